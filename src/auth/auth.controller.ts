import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { forbidden } from '../common/domain-error';
import { Public } from '../common/public.decorator';
import { AuthService } from './auth.service';
import { LoginDto, MeDto, RegisteredUserDto, RegisterDto, TokenDto } from './dto/auth.dto';
import { CurrentPrincipal, Principal } from '../common/principal';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @UseGuards(ThrottlerGuard)
  @ApiOperation({ summary: 'Register a user (and their personal project)' })
  @Post('register')
  @ApiCreatedResponse({ type: RegisteredUserDto, description: 'Creates the user and their personal project (owner).' })
  @ApiConflictResponse({ description: 'Email already registered' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited' })
  register(@Body() dto: RegisterDto): Promise<RegisteredUserDto> {
    return this.auth.register(dto);
  }

  @Public()
  @UseGuards(ThrottlerGuard)
  @ApiOperation({ summary: 'Log in: an access token for an email and password' })
  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: TokenDto })
  @ApiUnauthorizedResponse({ description: 'Invalid email or password' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited' })
  login(@Body() dto: LoginDto): Promise<TokenDto> {
    return this.auth.login(dto.email, dto.password);
  }

  @ApiBearerAuth()
  @ApiOperation({ summary: 'The calling user' })
  @Get('me')
  @ApiOkResponse({ type: MeDto })
  @ApiUnauthorizedResponse({ description: 'Missing, invalid or expired token' })
  @ApiForbiddenResponse({ description: 'Called with an API key: keys have no user profile' })
  me(@CurrentPrincipal() principal: Principal): Promise<MeDto> {
    if (principal.kind !== 'user') throw forbidden('API keys have no user profile; use a user token');
    return this.auth.me(principal.userId);
  }
}
