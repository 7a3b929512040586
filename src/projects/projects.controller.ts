import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ApiKeysService } from './api-keys.service';
import { CurrentPrincipal, Principal } from '../common/principal';
import { UuidPipe } from '../common/uuid.pipe';
import { AccessPolicy } from './access-policy.service';
import {
  AddMemberDto,
  ApiKeyListDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  CreateProjectDto,
  MembershipDto,
  ProjectDto,
  ProjectListDto,
} from './dto/projects.dto';
import { ProjectRole } from './membership.entity';
import { ProjectsService } from './projects.service';

const NOT_FOUND = 'Project not found';

@ApiTags('projects')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token' })
@ApiBadRequestResponse({ description: 'Invalid body or a path id that is not a UUID; `message` lists every problem' })
@ApiForbiddenResponse({
  description: 'Member without the needed role (owner for members and API keys), or an API key where a user is needed',
})
@ApiNotFoundResponse({ description: '"Project not found" for projects the caller is not a member of' })
@Controller('projects')
export class ProjectsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly apiKeys: ApiKeysService,
    private readonly access: AccessPolicy,
  ) {}

  @ApiOperation({ summary: 'Create a project' })
  @Post()
  @ApiCreatedResponse({ type: ProjectDto, description: 'The caller becomes its owner.' })
  create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateProjectDto): Promise<ProjectDto> {
    return this.projects.create(principal, dto.name);
  }

  @ApiOperation({ summary: "List the caller's projects" })
  @Get()
  @ApiOkResponse({ type: ProjectListDto })
  async list(@CurrentPrincipal() principal: Principal): Promise<ProjectListDto> {
    const items = await this.projects.list(principal);
    return { items, total: items.length };
  }

  @ApiOperation({ summary: 'Add a member to a project' })
  @Post(':id/members')
  @ApiCreatedResponse({
    type: MembershipDto,
    description: 'Owner only. 404 when no user has that email; 409 when already a member.',
  })
  async addMember(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: AddMemberDto,
  ): Promise<MembershipDto> {
    await this.access.require(principal, id, ProjectRole.Owner, NOT_FOUND);
    return this.projects.addMember(id, dto);
  }

  @ApiOperation({ summary: 'Create a project API key' })
  @Post(':id/api-keys')
  @ApiCreatedResponse({
    type: CreatedApiKeyDto,
    description: 'Owner only. The key acts as an editor of this project; `key` is shown only here.',
  })
  async createKey(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    await this.access.require(principal, id, ProjectRole.Owner, NOT_FOUND);
    return this.apiKeys.create(id, dto.name, principal.kind === 'user' ? principal.userId : null);
  }

  @ApiOperation({ summary: "List a project's API keys" })
  @Get(':id/api-keys')
  @ApiOkResponse({ type: ApiKeyListDto, description: 'Owner only. Never returns secrets.' })
  async listKeys(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<ApiKeyListDto> {
    await this.access.require(principal, id, ProjectRole.Owner, NOT_FOUND);
    const items = await this.apiKeys.list(id);
    return { items, total: items.length };
  }

  @ApiOperation({ summary: 'Revoke a project API key' })
  @Delete(':id/api-keys/:key_id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked: the key is refused from the next request on.' })
  async revokeKey(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Param('key_id', UuidPipe) keyId: string,
  ): Promise<void> {
    await this.access.require(principal, id, ProjectRole.Owner, NOT_FOUND);
    await this.apiKeys.revoke(id, keyId);
  }
}
