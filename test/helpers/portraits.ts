/** The shared test portraits and the faces a person sees in each (the `faces` column of their SOURCES.md). */
export const PORTRAIT_FACES: ReadonlyArray<readonly [file: string, faces: number]> = [
  ['01-woman-mask-peace.jpg', 1],
  ['02-man-studio-smile.png', 1],
  ['03-man-suit-lowres.jpg', 1],
  ['04-man-headshot-suit.jpg', 1],
  ['05-group6-stock.jpg', 6],
  ['06-selfie-glasses-outdoor.jpg', 1],
  ['07-selfie-sunglasses-beach.jpg', 1],
  ['08-selfie-bangs-striped.jpg', 1],
  ['09-selfie-in-car.jpg', 1],
  ['10-woman-rocks-fullbody.jpeg', 1],
  ['11-woman-counter-fullbody.jpeg', 1],
  ['12-group-selfie-cafe.jpeg', 5],
  ['13-man-standing-indoor.jpeg', 1],
  ['14-face-man-cap-glasses.jpg', 1],
  ['15-face-woman-blonde.jpg', 1],
  ['16-face-man-glasses.jpg', 1],
  ['17-face-man-turtleneck.jpg', 1],
  ['18-torii-shrine-noface.png', 0],
  ['19-city-skyline-noface.jpg', 0],
  ['20-woman-curly-hair.png', 1],
];

/** The portraits with at least one face. */
export const FACE_PORTRAITS: readonly string[] = PORTRAIT_FACES.filter(([, faces]) => faces > 0).map(([file]) => file);
