// Render LaTeX strings with the KaTeX the web page ships, as the tests ask:
//   node katex_render.js path/to/katex.min.js < strings.json
// stdin: a JSON list of strings (math, without $ delimiters); stdout: a JSON list of
// [index, message] for every string KaTeX refuses (throwOnError, strict: non-LaTeX input
// such as a Unicode letter in math mode is an error too). One process renders them all.
"use strict";
const katex = require(process.argv[2]);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const failures = [];
  JSON.parse(input).forEach((tex, i) => {
    try {
      katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: "error" });
    } catch (err) {
      failures.push([i, String(err.message)]);
    }
  });
  process.stdout.write(JSON.stringify(failures));
});
