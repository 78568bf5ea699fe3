// The part of madge's API that scripts/lint.ts uses (madge ships no types).
declare module 'madge' {
  interface MadgeConfig {
    baseDir?: string;
    fileExtensions?: string[];
    tsConfig?: string;
    includeNpm?: boolean;
    detectiveOptions?: Record<string, Record<string, unknown>>;
  }
  interface MadgeResult {
    obj(): Record<string, string[]>;
  }
  export default function madge(path: string | string[], config?: MadgeConfig): Promise<MadgeResult>;
}
