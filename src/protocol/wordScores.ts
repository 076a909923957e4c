// Matching word scores to the words of a document, shared by the host and the webview.
import type { WordListKind, WordScore } from './events';

const scoreKey = (list: string, group: string, index: number) => `${list}\u0000${group}\u0000${index}`;

/**
 * Looks up the score of the word at `index` of a list. A score counts only while the word
 * there still has the scored text, so an edited or moved word shows as unscored, and a
 * repeated word keeps its own verdict (the second "sparrow" is a duplicate, the first is not).
 */
export function scoreIndex(
  scores: readonly WordScore[],
): (list: WordListKind, group: string, index: number, text: string) => WordScore | undefined {
  const map = new Map(scores.map((s) => [scoreKey(s.list, s.group, s.index), s]));
  return (list, group, index, text) => {
    const s = map.get(scoreKey(list, group, index));
    return s && s.text === text ? s : undefined;
  };
}
