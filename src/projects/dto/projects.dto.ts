import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsEnum, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { ProjectRole } from '../membership.entity';

export class CreateProjectDto {
  @ApiProperty({ example: 'support-bot' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;
}

export class ProjectDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ProjectRole, description: "The caller's role" }) role: ProjectRole;
  @ApiProperty() created_at: string;
}

export class AddMemberDto {
  @ApiProperty({ example: 'grace@example.com' })
  @IsEmail()
  email: string;

  @ApiProperty({ enum: ProjectRole, example: ProjectRole.Editor })
  @IsEnum(ProjectRole)
  role: ProjectRole;
}

export class MembershipDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) project_id: string;
  @ApiProperty({ format: 'uuid' }) user_id: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: ProjectRole }) role: ProjectRole;
  @ApiProperty() created_at: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci-pipeline' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The secret. Shown only in this response; stored hashed.' }) key: string;
  @ApiProperty({ example: 'pl_1a2b3c4d5e6f' }) prefix: string;
  @ApiProperty() created_at: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() prefix: string;
  @ApiProperty() created_at: string;
  @ApiProperty({ nullable: true, type: String }) revoked_at: string | null;
  @ApiProperty({ nullable: true, type: String }) last_used_at: string | null;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) items: ApiKeyDto[];
  @ApiProperty() total: number;
}

export class ProjectListDto {
  @ApiProperty({ type: [ProjectDto] }) items: ProjectDto[];
  @ApiProperty() total: number;
}
