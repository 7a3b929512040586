import { type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfigModule } from '../config/app-config.module';
import { type AppConfig } from '../config/configuration';
import { MetricsModule } from '../metrics/metrics.module';
import { typeOrmOptions } from './typeorm-options';

/** The database and configuration every process needs (API and worker). */
export function coreImports(config: AppConfig): NonNullable<DynamicModule['imports']> {
  if (!config.databaseUrl) throw new Error('databaseUrl must be resolved before the app module is built');
  return [AppConfigModule.forRoot(config), TypeOrmModule.forRoot(typeOrmOptions(config.databaseUrl)), MetricsModule];
}
