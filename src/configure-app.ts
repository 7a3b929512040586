import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { rejectInvalidUtf8, rejectMalformedInput } from './common/input-guard';

export const BODY_LIMIT = '1mb';

/**
 * Everything about the HTTP app that main.ts and the e2e tests must share: prefix, body limit,
 * validation, security headers, Swagger.
 */
export function configureApp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.useBodyParser('json', { limit: BODY_LIMIT, verify: rejectInvalidUtf8 });
  express.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: true });
  app.use(rejectMalformedInput);
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
  const doc = new DocumentBuilder()
    .setTitle('PromptLooper API')
    .setDescription(
      'Prompt experimentation backend: experiments (prompt × model × params × inputs grids), runs, scoring and leaderboards. ' +
        'Authenticate with `POST /api/auth/login`, then "Authorize" with the access token (or a project API key `pl_…`).',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or pl_ API key' })
    .build();
  const document = SwaggerModule.createDocument(app, doc);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
