import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { Request, Response } from 'express';
import { CurrentPrincipal, Principal } from '../common/principal';
import { Page, PaginationQueryDto } from '../common/pagination.dto';
import { UuidPipe } from '../common/uuid.pipe';
import { DatasetUploadService } from './dataset-upload.service';
import { DatasetsService } from './datasets.service';
import {
  CreateDatasetDto,
  DatasetDetailDto,
  DatasetDto,
  DatasetItemDto,
  DatasetItemListDto,
  DatasetListDto,
  DatasetVersionDto,
  UploadQueryDto,
} from './dto/dataset.dto';

const NDJSON_EXAMPLE =
  '{"id": "t-1001", "ticket": "My refund never arrived", "expected": "refund"}\n' +
  '{"id": "t-1002", "ticket": "How do I reset my password?", "expected": "account"}\n';
const CSV_EXAMPLE =
  'id,ticket,expected\r\n' +
  't-1001,My refund never arrived,refund\r\n' +
  't-1002,"Two lines,\r\nand a ""quote""",account\r\n';

@ApiTags('datasets')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token' })
@ApiForbiddenResponse({ description: 'Viewers read; editors create and upload; owners delete' })
@Controller()
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly uploads: DatasetUploadService,
  ) {}

  @Post('projects/:projectId/datasets')
  @ApiOperation({ summary: 'Create an empty dataset (editor); upload its first version next' })
  @ApiCreatedResponse({ type: DatasetDto })
  @ApiBadRequestResponse({ description: 'Invalid body or project id; `message` lists every problem' })
  @ApiNotFoundResponse({ description: '"Project not found" (or not a project of the caller)' })
  @ApiConflictResponse({ description: 'A dataset with this name exists in the project' })
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('projectId', UuidPipe) projectId: string,
    @Body() dto: CreateDatasetDto,
  ): Promise<DatasetDto> {
    return this.datasets.create(principal, projectId, dto);
  }

  @Get('projects/:projectId/datasets')
  @ApiOperation({ summary: "The project's datasets, newest first (viewer)" })
  @ApiOkResponse({ type: DatasetListDto })
  @ApiNotFoundResponse({ description: '"Project not found"' })
  list(
    @CurrentPrincipal() principal: Principal,
    @Param('projectId', UuidPipe) projectId: string,
    @Query() query: PaginationQueryDto,
  ): Promise<Page<DatasetDto>> {
    return this.datasets.list(principal, projectId, query.limit, query.offset);
  }

  @Get('datasets/:id')
  @ApiOperation({ summary: 'A dataset with its versions, oldest first (viewer)' })
  @ApiOkResponse({ type: DatasetDetailDto })
  @ApiNotFoundResponse({ description: '"Dataset not found"' })
  get(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<DatasetDetailDto> {
    return this.datasets.get(principal, id);
  }

  @Delete('datasets/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a dataset with every version and item (owner)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: '"Dataset not found"' })
  @ApiConflictResponse({ description: 'An experiment uses one of its versions' })
  remove(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<void> {
    return this.datasets.remove(principal, id);
  }

  @Post('datasets/:id/versions')
  @ApiOperation({
    summary: 'Upload a new version (editor), streamed',
    description:
      'The body is read as a stream, validated line by line and copied into the database in one transaction: ' +
      'up to DATASET_MAX_ITEMS items (default 1,000,000) and DATASET_UPLOAD_MAX_BYTES (default 1 GiB) per version; ' +
      'the 1 MiB JSON limit does not apply. A malformed line or row answers 400 naming it and creates nothing. ' +
      'NDJSON: one JSON object a line (LF or CRLF, blank lines skipped). CSV (RFC 4180): a header row names the ' +
      'fields, every value is a string, quoted fields may hold commas, quotes and newlines; a BOM is ignored. ' +
      'JSON: `{"items": [ {…}, … ]}`. `item_key` is the string field `id` where present (unique within the ' +
      'version, else 400), otherwise the SHA-256 hex of the canonical JSON of the item (exact duplicates without ' +
      'an id therefore repeat a key and are refused too).',
    requestBody: {
      required: true,
      content: {
        'application/x-ndjson': { schema: { type: 'string' }, example: NDJSON_EXAMPLE },
        'text/csv': { schema: { type: 'string' }, example: CSV_EXAMPLE },
        'application/json': {
          schema: { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } } } },
          example: {
            items: [
              { id: 't-1001', ticket: 'My refund never arrived', expected: 'refund' },
              { ticket: 'How do I reset my password?', expected: 'account' },
            ],
          },
        },
      },
    },
  })
  @ApiCreatedResponse({ type: DatasetVersionDto })
  @ApiBadRequestResponse({
    description: 'A malformed line, row or item (the message names it: "line 12: …" or "items[11]: …"), or bad mode',
  })
  @ApiNotFoundResponse({ description: '"Dataset not found"' })
  @ApiPayloadTooLargeResponse({ description: 'The body exceeds DATASET_UPLOAD_MAX_BYTES' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Content-Type is not NDJSON, CSV or JSON, or not UTF-8' })
  async upload(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Query() query: UploadQueryDto,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<DatasetVersionDto> {
    try {
      return await this.datasets.upload(principal, id, request, query.mode ?? 'replace');
    } catch (error) {
      this.uploads.settleBody(request, error, (name, value) => response.setHeader(name, value));
      throw error;
    }
  }

  @Get('datasets/:id/versions/:version/items')
  @ApiOperation({ summary: "A page of a version's items in upload order (viewer)" })
  @ApiOkResponse({ type: DatasetItemListDto })
  @ApiNotFoundResponse({ description: '"Dataset not found" or "Dataset version not found"' })
  items(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Param('version', ParseIntPipe) version: number,
    @Query() query: PaginationQueryDto,
  ): Promise<Page<DatasetItemDto>> {
    return this.datasets.items(principal, id, version, query.limit, query.offset);
  }
}
