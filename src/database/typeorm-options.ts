import { join } from 'path';
import { type DataSourceOptions } from 'typeorm';

/**
 * The one set of TypeORM options, shared by the app (TypeOrmModule) and the CLI (ormconfig.ts).
 * Entities and migrations are found by glob so the same options work from ts (tests, CLI) and js (dist).
 */
export function typeOrmOptions(databaseUrl: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: [join(__dirname, '..', '**', '*.entity.{ts,js}')],
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    uuidExtension: 'pgcrypto',
    extra: { max: 20 },
    ...extra,
  } as DataSourceOptions;
}
