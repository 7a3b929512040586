import { Body, Controller, Get, Param, ParseIntPipe, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/principal';
import { Page, PaginationQueryDto } from '../common/pagination.dto';
import { UuidPipe } from '../common/uuid.pipe';
import {
  CreatePromptDto,
  CreatePromptVersionDto,
  LabelMoveDto,
  MoveLabelDto,
  PromptDto,
  PromptListDto,
  PromptVersionDto,
} from './dto/prompt.dto';
import { PromptsService } from './prompts.service';

@ApiTags('prompts')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token' })
@ApiForbiddenResponse({ description: 'Viewers read; editors create prompts and versions and move labels' })
@ApiBadRequestResponse({ description: 'Invalid body or path parameter; `message` lists every problem' })
@Controller()
export class PromptsController {
  constructor(private readonly prompts: PromptsService) {}

  @Post('projects/:projectId/prompts')
  @ApiOperation({ summary: 'Create a prompt (editor); add its first version next' })
  @ApiCreatedResponse({ type: PromptDto })
  @ApiNotFoundResponse({ description: '"Project not found"' })
  @ApiConflictResponse({ description: 'A prompt with this name exists in the project' })
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('projectId', UuidPipe) projectId: string,
    @Body() dto: CreatePromptDto,
  ): Promise<PromptDto> {
    return this.prompts.create(principal, projectId, dto);
  }

  @Get('projects/:projectId/prompts')
  @ApiOperation({ summary: "The project's prompts with their labels, newest first (viewer)" })
  @ApiOkResponse({ type: PromptListDto })
  @ApiNotFoundResponse({ description: '"Project not found"' })
  list(
    @CurrentPrincipal() principal: Principal,
    @Param('projectId', UuidPipe) projectId: string,
    @Query() query: PaginationQueryDto,
  ): Promise<Page<PromptDto>> {
    return this.prompts.list(principal, projectId, query.limit, query.offset);
  }

  @Get('prompts/:id')
  @ApiOperation({ summary: 'A prompt with its labels {label: version} (viewer)' })
  @ApiOkResponse({ type: PromptDto })
  @ApiNotFoundResponse({ description: '"Prompt not found"' })
  get(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<PromptDto> {
    return this.prompts.get(principal, id);
  }

  @Post('prompts/:id/versions')
  @ApiOperation({ summary: 'Add the next version (editor); versions are numbered 1, 2, … and immutable' })
  @ApiCreatedResponse({ type: PromptVersionDto })
  @ApiNotFoundResponse({ description: '"Prompt not found"' })
  addVersion(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: CreatePromptVersionDto,
  ): Promise<PromptVersionDto> {
    return this.prompts.addVersion(principal, id, dto);
  }

  @Get('prompts/:id/versions/:version')
  @ApiOperation({ summary: 'One version (viewer)' })
  @ApiOkResponse({ type: PromptVersionDto })
  @ApiNotFoundResponse({ description: '"Prompt not found" or "Prompt version not found"' })
  getVersion(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
  ): Promise<PromptVersionDto> {
    return this.prompts.getVersion(principal, id, version);
  }

  @Put('prompts/:id/labels/:label')
  @ApiOperation({
    summary: 'Point a label at a version (editor), atomically',
    description:
      'Labels are `production`, `staging` or any `[a-z0-9-]{1,40}` that is not only digits; `latest` is reserved ' +
      '(it always means the newest version). One statement moves the label and answers where it pointed before, ' +
      'so concurrent moves never lose one: each answer names the move before it.',
  })
  @ApiOkResponse({ type: LabelMoveDto })
  @ApiNotFoundResponse({ description: '"Prompt not found"' })
  moveLabel(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Param('label') label: string,
    @Body() dto: MoveLabelDto,
  ): Promise<LabelMoveDto> {
    return this.prompts.moveLabel(principal, id, label, dto.version);
  }
}
