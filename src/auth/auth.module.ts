import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/configuration';
import { APP_CONFIG } from '../config/app-config.module';
import { UserDirectory } from '../projects/user-directory';
import { AuthController } from './auth.controller';
import { GlobalAuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { JwtStrategy } from './jwt.strategy';
import { SseTicketService } from './sse-ticket.service';
import { User } from './user.entity';
import { UsersDirectory } from './users-directory';

/** Owns users, login and JWTs; global so that projects/ (below) reaches users through `UserDirectory`. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([User]),
    PassportModule,
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtSecret as string,
        signOptions: { algorithm: 'HS256', expiresIn: config.jwtExpiresInSeconds },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
    // Applied only where @UseGuards(ThrottlerGuard) is set: login and register.
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => [{ ttl: config.authThrottleTtlMs, limit: config.authThrottleLimit }],
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    JwtStrategy,
    SseTicketService,
    { provide: APP_GUARD, useClass: GlobalAuthGuard },
    { provide: UserDirectory, useClass: UsersDirectory },
  ],
  exports: [AuthService, UserDirectory, SseTicketService],
})
export class AuthModule {}
