// The 80 OpenAI ImageNet prompt templates (CLIP's zero-shot set), which the reference uses
// to augment the text training set: both words of an example share one template. The list
// lives in JSON so the demo's Python training tool reads the same one.
import templates from './openai-imagenet-templates.json';

export const OPENAI_IMAGENET_TEMPLATES: readonly string[] = templates;

export const fillTemplate = (template: string, word: string): string => template.replace('{}', word);
