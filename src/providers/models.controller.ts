import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ModelListDto } from './model.dto';
import { ProviderRegistry } from './provider-registry';

@ApiTags('models')
@ApiBearerAuth()
@Controller('models')
export class ModelsController {
  constructor(private readonly registry: ProviderRegistry) {}

  @Get()
  @ApiOperation({
    summary: 'Known models with their prices',
    description:
      'The priced `provider:model` ids (built-in table merged with MODEL_PRICES). Dated snapshots of a listed id ' +
      '(`-2024-07-18`, `-20241022`, `-latest`) share its price. Other `openai:` / `anthropic:` names still run, with cost null.',
  })
  @ApiOkResponse({ type: ModelListDto })
  @ApiUnauthorizedResponse({ description: 'Missing or invalid token.' })
  list(): ModelListDto {
    return { items: this.registry.listModels() };
  }
}
