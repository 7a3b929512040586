import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/principal';
import { UuidPipe } from '../common/uuid.pipe';
import { ConnectionsService } from './connections.service';
import {
  ConnectionDto,
  ConnectionListDto,
  CREATE_CONNECTION_EXAMPLES,
  CreateConnectionDto,
  UPDATE_CONNECTION_EXAMPLES,
  UpdateConnectionDto,
} from './dto/connection.dto';

@ApiTags('connections')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token' })
@ApiBadRequestResponse({
  description:
    'Invalid body (every problem listed), a reserved name (`mock`), or a base_url that targets a loopback, private, link-local or metadata address while ALLOW_PRIVATE_URLS is false',
})
@ApiForbiddenResponse({ description: 'Managing connections needs the owner role' })
@ApiNotFoundResponse({
  description: '"Project not found" / "Connection not found" for projects the caller is not a member of',
})
@Controller()
export class ConnectionsController {
  constructor(private readonly connections: ConnectionsService) {}

  @ApiOperation({ summary: 'Create a provider connection for a project' })
  @Post('projects/:project_id/connections')
  @ApiBody({ type: CreateConnectionDto, examples: CREATE_CONNECTION_EXAMPLES })
  @ApiCreatedResponse({
    type: ConnectionDto,
    description: 'Owner only. The key is stored encrypted and never returned.',
  })
  @ApiConflictResponse({ description: 'A connection with that name exists in the project' })
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('project_id', UuidPipe) projectId: string,
    @Body() dto: CreateConnectionDto,
  ): Promise<ConnectionDto> {
    return this.connections.create(principal, projectId, dto);
  }

  @ApiOperation({ summary: "List a project's connections (keys never shown)" })
  @Get('projects/:project_id/connections')
  @ApiOkResponse({ type: ConnectionListDto, description: 'Any member; `api_key_last4` for owners only.' })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Param('project_id', UuidPipe) projectId: string,
  ): Promise<ConnectionListDto> {
    const items = await this.connections.list(principal, projectId);
    return { items, total: items.length };
  }

  @ApiOperation({ summary: 'Change a connection' })
  @Patch('connections/:id')
  @ApiBody({ type: UpdateConnectionDto, examples: UPDATE_CONNECTION_EXAMPLES })
  @ApiOkResponse({ type: ConnectionDto, description: 'Owner only. A new key applies to calls that start afterwards.' })
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: UpdateConnectionDto,
  ): Promise<ConnectionDto> {
    return this.connections.update(principal, id, dto);
  }

  @ApiOperation({ summary: 'Delete a connection' })
  @Delete('connections/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Owner only. Runs still using its prefix fail with an unknown-provider error.' })
  remove(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<void> {
    return this.connections.remove(principal, id);
  }
}
