// The self-supervised methods, named once; the workflow contracts and the CLI take the list from here.
export const METHODS = ['deepcluster', 'iic', 'context-encoder'] as const;
export type MethodName = (typeof METHODS)[number];
