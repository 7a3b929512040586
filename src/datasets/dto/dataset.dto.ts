import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class CreateDatasetDto {
  @ApiProperty({ maxLength: 200, example: 'support-tickets', description: 'Unique within the project (409 otherwise)' })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({
    nullable: true,
    type: String,
    maxLength: 10000,
    example: 'Tickets with the expected category',
  })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;
}

export class UploadQueryDto {
  @ApiPropertyOptional({
    enum: ['replace', 'append'],
    default: 'replace',
    description:
      "replace: the new version holds exactly the uploaded items. append: the previous version's items, then these " +
      '(on a dataset without versions, the same as replace)',
  })
  @IsOptional()
  @IsIn(['replace', 'append'])
  mode?: 'replace' | 'append';
}

export class DatasetDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) project_id: string;
  @ApiProperty({ example: 'support-tickets' }) name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 2,
    description: 'The newest version; null before the first upload',
  })
  latest_version: number | null;
  @ApiProperty({ example: '2026-12-01T23:40:00.000Z' }) created_at: string;
}

export class DatasetVersionSummaryDto {
  @ApiProperty({ example: 1, description: 'Numbered 1, 2, … per dataset; immutable' }) version: number;
  @ApiProperty({ example: 5000 }) item_count: number;
  @ApiProperty({
    example: '9f2c…',
    description:
      'Lowercase hex SHA-256 over the ordered items: per item, the canonical JSON (RFC 8785) of [item_key, data] ' +
      'and a newline. Equal item lists give equal hashes however they were uploaded.',
  })
  content_hash: string;
  @ApiProperty() created_at: string;
}

export class DatasetDetailDto extends DatasetDto {
  @ApiProperty({ type: [DatasetVersionSummaryDto], description: 'Oldest first' })
  versions: DatasetVersionSummaryDto[];
}

export class DatasetListDto {
  @ApiProperty({ type: [DatasetDto] }) items: DatasetDto[];
  @ApiProperty() total: number;
}

export class DatasetVersionDto extends DatasetVersionSummaryDto {
  @ApiProperty({ format: 'uuid' }) dataset_id: string;
}

export class DatasetItemDto {
  @ApiProperty({
    example: 't-1001',
    description: "The item's string field `id` where present, otherwise the SHA-256 hex of its canonical JSON",
  })
  item_key: string;
  @ApiProperty({ example: { id: 't-1001', ticket: 'My refund never arrived', expected: 'refund' } })
  data: Record<string, unknown>;
}

export class DatasetItemListDto {
  @ApiProperty({ type: [DatasetItemDto], description: 'In upload order' }) items: DatasetItemDto[];
  @ApiProperty({ description: "The version's item count" }) total: number;
}
