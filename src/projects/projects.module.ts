import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessPolicy } from './access-policy.service';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { Membership } from './membership.entity';
import { Project } from './project.entity';
import { ProjectsController } from './projects.controller';
import { ProjectsService } from './projects.service';

/**
 * Global: every feature module asks `AccessPolicy` who may do what. Owns projects, memberships and
 * api_keys; auth/ (above) creates a user's personal project through `ProjectsService` and checks
 * API keys through `ApiKeysService`.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([Project, Membership, ApiKey])],
  controllers: [ProjectsController],
  providers: [ProjectsService, AccessPolicy, ApiKeysService],
  exports: [AccessPolicy, ProjectsService, ApiKeysService],
})
export class ProjectsModule {}
