import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import typeIs from 'type-is';
import { jsonOnlyMiddleware, RAW_BODY_ROUTES } from './common/json-only';
import { requestIdMiddleware } from './common/request-id';
import { accessLogMiddleware } from './common/access-log';
import { httpMetricsMiddleware } from './metrics/http-metrics';
import { MetricsService } from './metrics/metrics.service';
import { declarePublicOperationsAndTags, documentErrorBodies, markFreeFormObjects } from './common/openapi-fixups';
import { APP_CONFIG } from './config/app-config.module';
import { type AppConfig } from './config/configuration';
import { isDatasetUpload, UPLOAD_PATH } from './datasets/upload/upload-format';
import { rejectInvalidUtf8, rejectMalformedInput } from './common/input-guard';

export const BODY_LIMIT = '1mb';

/** The OpenAPI tags, in the order Swagger UI lists them. */
const API_TAGS: Array<[string, string]> = [
  ['auth', 'Register, log in, and the calling user'],
  ['projects', 'Projects, their members and their API keys'],
  ['models', 'The models this instance can call, and what each supports'],
  ['connections', "A project's own provider connections (base URL, key, headers): models under their prefix"],
  ['datasets', 'Versioned datasets of inputs: upload (JSON, NDJSON, CSV), versions, items'],
  ['prompts', 'The prompt registry: versions and labels, referenced from experiments by {ref}'],
  ['experiments', 'Experiments: the grid, launch, progress (SSE), cancel, retry, compare, gate, budgets'],
  ['runs', 'Runs: one grid cell on one input, their stages, scores and exports'],
  ['scoring', 'Automated scorers and human ratings'],
  ['leaderboard', 'Run and configuration leaderboards with weighted scores and statistics'],
  ['webhooks', 'Webhook subscriptions, deliveries and secret rotation'],
  ['operations', 'Health and operations'],
];

/**
 * Everything about the HTTP app that main.ts and the e2e tests must share: prefix, body limit,
 * validation, security headers, Swagger. Returns the OpenAPI document it serves.
 */
export function configureApp(app: INestApplication): OpenAPIObject {
  const express = app as NestExpressApplication;
  const config = app.get<AppConfig>(APP_CONFIG);
  app.use(requestIdMiddleware);
  app.use(accessLogMiddleware);
  app.use(httpMetricsMiddleware(app.get(MetricsService)));
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins,
      allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id'],
      maxAge: 600,
    });
  }
  // JSON only (no urlencoded parser: a form body is answered 415, not half-parsed), except the
  // dataset upload route, which also takes NDJSON and CSV.
  app.use(
    jsonOnlyMiddleware([
      ...RAW_BODY_ROUTES,
      { method: 'POST', path: UPLOAD_PATH, types: ['application/x-ndjson', 'text/csv'] },
    ]),
  );
  // Dataset uploads are read as a stream by their route (up to 1 GiB), never buffered here.
  express.useBodyParser('json', {
    limit: BODY_LIMIT,
    verify: rejectInvalidUtf8,
    type: (req: Parameters<typeof isDatasetUpload>[0] & Parameters<typeof typeIs>[0]) =>
      !isDatasetUpload(req) && Boolean(typeIs(req, ['application/json'])),
  });
  app.use(rejectMalformedInput);
  app.setGlobalPrefix('api', { exclude: ['metrics'] });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
    }),
  );
  // Swagger UI needs inline scripts/styles; the API itself serves only JSON.
  app.use(helmet({ contentSecurityPolicy: false }));
  const document = openApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  return document;
}

/** The OpenAPI document of the app's routes (after the global prefix is set). */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('PromptLooper API')
    .setDescription(
      'Prompt experimentation backend: experiments (prompt × model × params × inputs grids), runs, scoring and leaderboards. ' +
        'Authenticate with `POST /api/auth/login`, then "Authorize" with the access token (or a project API key `pl_…`).',
    )
    .setVersion('0.1.0')
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or pl_ API key' });
  for (const [name, description] of API_TAGS) builder.addTag(name, description);
  const config = builder.build();
  const document = markFreeFormObjects(SwaggerModule.createDocument(app, config));
  return documentErrorBodies(declarePublicOperationsAndTags(document));
}
