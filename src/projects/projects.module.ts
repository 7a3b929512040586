import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { User } from '../auth/user.entity';
import { AccessPolicy } from './access-policy.service';
import { Membership } from './membership.entity';
import { Project } from './project.entity';
import { ProjectsController } from './projects.controller';
import { ProjectsService } from './projects.service';

/** Global: every feature module asks `AccessPolicy` who may do what. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([Project, Membership, User]), AuthModule],
  controllers: [ProjectsController],
  providers: [ProjectsService, AccessPolicy],
  exports: [AccessPolicy, ProjectsService],
})
export class ProjectsModule {}
