/** `[batch, n, k, m]` products that reach every tile path of the matmul kernel (4×8, 4×4, 1×8, 1×4, scalar columns, leftover rows). */
export const MATMUL_TILE_SHAPES: readonly [number, number, number, number][] = [
  [1, 1, 1, 1],
  [3, 4, 3, 8],
  [2, 5, 7, 13],
  [4, 9, 1, 6],
  [2, 150, 16, 32],
  [5, 3, 17, 2],
  [1, 33, 40, 27],
  [2, 13, 9, 31],
  [1, 6, 5, 12],
  [1, 11, 3, 20],
];
