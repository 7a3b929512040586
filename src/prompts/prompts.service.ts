import { Injectable } from '@nestjs/common';
import { Principal } from '../common/principal';
import { invalid, notFound } from '../common/domain-error';
import { isPlainObject } from '../common/is-plain-object';
import { type Page } from '../common/pagination.dto';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import {
  type CreatePromptDto,
  type CreatePromptVersionDto,
  type LabelMoveDto,
  type PromptDto,
  type PromptVersionDto,
} from './dto/prompt.dto';
import { Prompt } from './prompt.entity';
import { LABEL, LATEST, parsePromptRef } from './prompt-ref';
import { promptTemplateProblems, type PromptTemplate } from './prompt-template';
import { PromptVersion } from './prompt-version.entity';
import { PromptsRepository } from './prompts.repository';
import { OutboxWriter } from '../outbox/outbox.writer';

export const PROMPT_NOT_FOUND = 'Prompt not found';
export const PROMPT_VERSION_NOT_FOUND = 'Prompt version not found';

/** A registry reference resolved at experiment creation: what the experiment stores and runs carry. */
export interface ResolvedPromptRef {
  ref: string;
  prompt_id: string;
  name: string;
  version: number;
  template: PromptTemplate;
  params: Record<string, unknown>;
}

function toPromptDto(p: Prompt, labels: Record<string, number>): PromptDto {
  return {
    id: p.id,
    project_id: p.projectId,
    name: p.name,
    description: p.description,
    latest_version: p.latestVersion,
    labels,
    created_at: p.createdAt.toISOString(),
  };
}

function toVersionDto(v: PromptVersion): PromptVersionDto {
  return {
    prompt_id: v.promptId,
    version: v.version,
    template: v.template,
    params: v.params,
    note: v.note,
    created_at: v.createdAt.toISOString(),
  };
}

/** The prompt registry: prompts, immutable versions, labels, and references from experiments. */
@Injectable()
export class PromptsService {
  constructor(
    private readonly repository: PromptsRepository,
    private readonly access: AccessPolicy,
    private readonly outbox: OutboxWriter,
  ) {}

  private async findAccessible(principal: Principal, id: string, role: ProjectRole): Promise<Prompt> {
    const prompt = await this.repository.findById(id);
    if (!prompt) throw notFound(PROMPT_NOT_FOUND);
    await this.access.require(principal, prompt.projectId, role, PROMPT_NOT_FOUND);
    return prompt;
  }

  async create(principal: Principal, projectId: string, dto: CreatePromptDto): Promise<PromptDto> {
    await this.access.require(principal, projectId, ProjectRole.Editor, 'Project not found');
    return toPromptDto(await this.repository.create(projectId, dto.name, dto.description ?? null), {});
  }

  async list(principal: Principal, projectId: string, limit: number, offset: number): Promise<Page<PromptDto>> {
    await this.access.require(principal, projectId, ProjectRole.Viewer, 'Project not found');
    const { rows, total } = await this.repository.listByProject(projectId, limit, offset);
    const labels = await this.repository.labelsOf(rows.map((r) => r.id));
    return { items: rows.map((r) => toPromptDto(r, labels.get(r.id) ?? {})), total };
  }

  async get(principal: Principal, id: string): Promise<PromptDto> {
    const prompt = await this.findAccessible(principal, id, ProjectRole.Viewer);
    const labels = await this.repository.labelsOf([id]);
    return toPromptDto(prompt, labels.get(id) ?? {});
  }

  async addVersion(principal: Principal, id: string, dto: CreatePromptVersionDto): Promise<PromptVersionDto> {
    await this.findAccessible(principal, id, ProjectRole.Editor);
    const problems = promptTemplateProblems(dto.template, 'template');
    if (dto.params !== undefined && !isPlainObject(dto.params)) problems.push('params must be an object');
    if (problems.length > 0) throw invalid(problems);
    const created = await this.repository.addVersion(id, dto.template, dto.params ?? {}, dto.note ?? null);
    return toVersionDto(created);
  }

  async getVersion(principal: Principal, id: string, version: number): Promise<PromptVersionDto> {
    await this.findAccessible(principal, id, ProjectRole.Viewer);
    const row = await this.repository.findVersion(id, { version });
    if (!row) throw notFound(PROMPT_VERSION_NOT_FOUND);
    return toVersionDto(row);
  }

  async moveLabel(principal: Principal, id: string, label: string, version: number): Promise<LabelMoveDto> {
    const prompt = await this.findAccessible(principal, id, ProjectRole.Editor);
    if (label === LATEST) throw invalid(`"${LATEST}" always means the newest version; it cannot be moved`);
    if (!LABEL.test(label)) {
      throw invalid('label must be 1-40 characters of a-z, 0-9 and "-", and not only digits (those name versions)');
    }
    const moved = await this.repository.moveLabel(id, label, version, (manager, move) =>
      this.outbox.append(
        manager,
        prompt.projectId,
        'prompt.label_moved',
        {
          prompt_id: id,
          name: prompt.name,
          label: move.label,
          version: move.version,
          previous_version: move.previousVersion,
        },
        { link: { id, href: `/api/prompts/${id}` } },
      ),
    );
    if (!moved) throw invalid(`version ${version} does not exist for this prompt`);
    return { label: moved.label, version: moved.version, previous_version: moved.previousVersion };
  }

  /**
   * Resolves `name@label|version` within a project (the experiment's), for experiment creation.
   * Returns a problem message instead of throwing, so the experiment's 400 can list them all.
   */
  async resolveRef(projectId: string, ref: string, at: string): Promise<ResolvedPromptRef | string> {
    const parsed = parsePromptRef(ref);
    if (!parsed) return `${at}.ref must be "<name>@<label or version>" (e.g. "summarise@production" or "summarise@3")`;
    const prompt = await this.repository.findByName(projectId, parsed.name);
    if (!prompt) return `${at}.ref: no prompt named "${parsed.name}" in the project`;
    const version = await this.repository.findVersion(prompt.id, parsed.selector);
    if (!version) {
      const what =
        'version' in parsed.selector ? `version ${parsed.selector.version}` : `label "${parsed.selector.label}"`;
      return `${at}.ref: prompt "${parsed.name}" has no ${what}`;
    }
    return {
      ref,
      prompt_id: prompt.id,
      name: prompt.name,
      version: version.version,
      template: version.template,
      params: version.params,
    };
  }
}
