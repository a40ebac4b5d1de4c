// Counts of what the hallucination filter removed, per rule and per pattern, for the stats
// endpoint (snapshot()) and, later, Prometheus counters fed from the same snapshot.
import type { FilterRule } from './types.js';

export interface FilterStatsSnapshot {
  /** segments examined */
  checked: number;
  /** segments removed whole */
  dropped: number;
  /** segments kept with a hallucinated tail cut off */
  trimmed: number;
  byRule: Partial<Record<FilterRule, number>>;
  /** per phrase/regex pattern (label "lang:pattern") */
  byPattern: Record<string, number>;
}

export class FilterStats {
  private checked = 0;
  private dropped = 0;
  private trimmed = 0;
  private readonly byRule = new Map<FilterRule, number>();
  private readonly byPattern = new Map<string, number>();

  countChecked(segments: number): void {
    this.checked += segments;
  }

  record(rule: FilterRule, pattern: string | undefined, trimmedOnly: boolean): void {
    if (trimmedOnly) this.trimmed++;
    else this.dropped++;
    this.byRule.set(rule, (this.byRule.get(rule) ?? 0) + 1);
    if (pattern) this.byPattern.set(pattern, (this.byPattern.get(pattern) ?? 0) + 1);
  }

  snapshot(): FilterStatsSnapshot {
    return {
      checked: this.checked,
      dropped: this.dropped,
      trimmed: this.trimmed,
      byRule: Object.fromEntries(this.byRule) as Partial<Record<FilterRule, number>>,
      byPattern: Object.fromEntries(this.byPattern),
    };
  }

  reset(): void {
    this.checked = this.dropped = this.trimmed = 0;
    this.byRule.clear();
    this.byPattern.clear();
  }
}
