/** Vite's raw imports (`../docs/api.md?raw`): the file's text. An ambient file, so the wildcard applies everywhere. */
declare module '*?raw' {
  const text: string
  export default text
}
