/** Labeling project ids: 1-64 characters of a-z 0-9 - _, starting with a letter or digit (they appear in URLs). */
export const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
