import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';

export const BODY_LIMIT = '1mb';

/**
 * Everything about the HTTP app that main.ts and the e2e tests must share: prefix, body limit,
 * validation, security headers, Swagger. Returns the OpenAPI document it serves.
 */
export function configureApp(app: INestApplication): OpenAPIObject {
  const express = app as NestExpressApplication;
  express.useBodyParser('json', { limit: BODY_LIMIT });
  express.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: true });
  app.setGlobalPrefix('api');
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
  const config = new DocumentBuilder()
    .setTitle('PromptLooper API')
    .setDescription(
      'Prompt experimentation backend: experiments (prompt × model × params × inputs grids), runs, scoring and leaderboards. ' +
        'Authenticate with `POST /api/auth/login`, then "Authorize" with the access token (or a project API key `pl_…`).',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or pl_ API key' })
    .build();
  return SwaggerModule.createDocument(app, config);
}
