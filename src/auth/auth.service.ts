import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectRepository } from '@nestjs/typeorm';
import * as bcrypt from 'bcryptjs';
import { DataSource, Repository } from 'typeorm';
import { AppConfig } from '../config/configuration';
import { InjectConfig } from '../config/app-config.module';
import { conflict, DomainError, ErrorCode, forbidden } from '../common/domain-error';
import { ProjectsService } from '../projects/projects.service';
import { MeDto, RegisteredUserDto, RegisterDto, TokenDto } from './dto/auth.dto';
import { User } from './user.entity';

export interface JwtPayload {
  sub: string;
  email: string;
}

@Injectable()
export class AuthService {
  /** Compared against when the email is unknown, so both failures take the same time. */
  private readonly dummyHash: string;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly projects: ProjectsService,
    private readonly dataSource: DataSource,
    private readonly jwt: JwtService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.dummyHash = bcrypt.hashSync('not-a-real-password', config.bcryptRounds);
  }

  async register(dto: RegisterDto): Promise<RegisteredUserDto> {
    const email = dto.email.trim().toLowerCase();
    if (await this.users.exists({ where: { email } })) throw conflict('Email already registered', ErrorCode.NameTaken);
    const passwordHash = await bcrypt.hash(dto.password, this.config.bcryptRounds);
    const user = await this.dataSource.transaction(async (em) => {
      if (!this.config.allowRegistration) {
        // Closed registration still lets the first user in; the lock makes "first" hold under concurrency.
        await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['promptlooper:first-user']);
        if (await em.exists(User)) {
          throw forbidden('Registration is closed on this server (ALLOW_REGISTRATION=false): ask an operator');
        }
      }
      const created = await em.save(em.create(User, { email, name: dto.name ?? null, passwordHash }));
      const project = await this.projects.createPersonalProject(em, created.id, `${dto.name ?? email}'s project`);
      created.defaultProjectId = project.id;
      await em.update(User, created.id, { defaultProjectId: project.id });
      return created;
    });
    return toUserDto(user);
  }

  async login(emailInput: string, password: string): Promise<TokenDto> {
    const user = await this.users.findOne({ where: { email: emailInput.trim().toLowerCase() } });
    const ok = await bcrypt.compare(password, user?.passwordHash ?? this.dummyHash);
    if (!user || !ok) throw new DomainError(ErrorCode.Unauthorized, 'Invalid email or password');
    const payload: JwtPayload = { sub: user.id, email: user.email };
    return {
      access_token: await this.jwt.signAsync(payload),
      token_type: 'bearer',
      expires_in: this.config.jwtExpiresInSeconds,
    };
  }

  async me(userId: string): Promise<MeDto> {
    const user = await this.users.findOneOrFail({ where: { id: userId } });
    return { ...toUserDto(user), projects: await this.projects.membershipsOf(userId) };
  }

  async userExists(userId: string): Promise<boolean> {
    return this.users.exists({ where: { id: userId } });
  }
}

function toUserDto(user: User): RegisteredUserDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    created_at: user.createdAt.toISOString(),
    default_project_id: user.defaultProjectId as string,
  };
}
