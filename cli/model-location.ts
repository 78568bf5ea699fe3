// A model named on the command line: a URL as given, a path made absolute (workers may run in another directory).
import { resolve } from 'node:path';

export const isUrl = (location: string) => /^[a-z]+:\/\//.test(location);

export const modelLocation = (location: string) => (isUrl(location) ? location : resolve(location));
