import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/app-config.module';
import { type AppConfig } from '../config/configuration';
import { SecretBox } from './secret-box';
import { UrlPolicy } from './url-policy';

/**
 * The SSRF policy for user-supplied URLs and the box that encrypts secrets at rest, built from the
 * configuration. Import this module and inject `UrlPolicy` / `SecretBox`.
 */
@Module({
  providers: [
    {
      provide: UrlPolicy,
      useFactory: (config: AppConfig) => new UrlPolicy({ allowPrivate: config.allowPrivateUrls }),
      inject: [APP_CONFIG],
    },
    {
      provide: SecretBox,
      useFactory: (config: AppConfig) => {
        // Embedded start-up generates the key; distributed mode requires SECRETS_KEY (validated by config).
        if (!config.secretsKey) throw new Error('"SECRETS_KEY" is not resolved: set it (32 bytes, base64)');
        return SecretBox.fromBase64(config.secretsKey);
      },
      inject: [APP_CONFIG],
    },
  ],
  exports: [UrlPolicy, SecretBox],
})
export class SecurityModule {}
