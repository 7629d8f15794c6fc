// The part of madge (no declarations of its own) that test/infra/import-cycles.test.ts uses.
declare module 'madge' {
  interface MadgeConfig {
    fileExtensions?: string[];
    tsConfig?: string;
    detectiveOptions?: Record<string, Record<string, unknown>>;
  }
  interface MadgeResult {
    /** module -> the modules it imports, paths relative to the base folder. */
    obj(): Record<string, string[]>;
    /** Every import cycle found, each as the modules along it. */
    circular(): string[][];
    warnings(): { skipped: string[] };
  }
  export default function madge(path: string, config?: MadgeConfig): Promise<MadgeResult>;
}
