import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfigFromProcessEnv } from './src/config/configuration';
import { typeOrmOptions } from './src/database/typeorm-options';

/**
 * Data source for the TypeORM CLI (`npm run migration:run`, `migration:generate`). It shares its
 * options with the app. It needs DATABASE_URL: the embedded server is started by `npm start`.
 */
const config = loadConfigFromProcessEnv({ requireDatabaseUrl: true });
export default new DataSource(typeOrmOptions(config.databaseUrl as string));
