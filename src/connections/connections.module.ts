import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecurityModule } from '../security/security.module';
import { ProviderConnection } from './connection.entity';
import { ConnectionResolver } from './connection-resolver';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';

/** What every process needs: resolving a project's connection with its secrets (providers/ uses it). */
@Module({
  imports: [TypeOrmModule.forFeature([ProviderConnection]), SecurityModule],
  providers: [ConnectionResolver],
  exports: [ConnectionResolver, SecurityModule],
})
export class ConnectionResolverModule {}

/** The API of per-project provider connections (owner manages, editors use). */
@Module({
  imports: [TypeOrmModule.forFeature([ProviderConnection]), SecurityModule],
  controllers: [ConnectionsController],
  providers: [ConnectionsService],
})
export class ConnectionsModule {}
