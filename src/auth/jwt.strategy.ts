import { Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/configuration';
import { InjectConfig } from '../config/app-config.module';
import { AuthService, JwtPayload } from './auth.service';
import { Principal } from '../common/principal';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @InjectConfig() config: AppConfig,
    private readonly auth: AuthService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: config.jwtSecret as string,
      // Pinning the algorithm rejects `alg: none` and algorithm-confusion tokens.
      algorithms: ['HS256'],
      ignoreExpiration: false,
    });
  }

  async validate(payload: JwtPayload): Promise<Principal> {
    if (typeof payload?.sub !== 'string' || !(await this.auth.userExists(payload.sub))) {
      throw new UnauthorizedException('Invalid token');
    }
    return { kind: 'user', userId: payload.sub, email: payload.email };
  }
}
