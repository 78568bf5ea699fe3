/** One image as the pipeline passes it around: float32 samples, interleaved height x width x channels. */
export interface Image {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export function newImage(height: number, width: number, channels: number): Image {
  return { data: new Float32Array(height * width * channels), height, width, channels };
}
