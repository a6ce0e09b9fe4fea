#!/usr/bin/env bash
# check_report.sh - `xaid report` end to end, without a server: writes the HTML and JSON
# reports of a sample image saved under a file name made like a patient's, then checks that
# the name appears nowhere, that the HTML is valid (html-validate) and self-contained (no URL,
# no script, images as data: URIs), that the JSON parses with the documented fields, and that
# the viewer page is valid HTML too.
#   check_report.sh XAID SOURCE_DIR OUT_DIR
set -euo pipefail
xaid=$1 src=$2 out=$3
export XAID_WEB_MODULES=${XAID_WEB_MODULES:-$src/tools/web/node_modules}
mkdir -p "$out"
image="$out/Doe^Jane 1961-04-02 chest.png"
cp "$src/examples/nodule-2.png" "$image"
"$xaid" report --model "$src/models/chest-demo" --image "$image" --evaluate --out "$out/report.html"
"$xaid" report --model "$src/models/chest-demo" --image "$image" --method integrated_gradients \
  --param steps=8 --target opacity --json --out "$out/report.json"
fail() { echo "check_report: $*" >&2; exit 1; }
for f in "$out/report.html" "$out/report.json"; do
  # base64 runs (the pictures) removed first: they can spell anything
  ! sed -E 's/[A-Za-z0-9+\/=]{64,}//g' "$f" | grep -q -e 'Doe' -e 'Jane' -e '1961' ||
    fail "$f contains the image's file name"
done
grep -q 'it is not a diagnosis' "$out/report.html" || fail "no disclaimer"
grep -q 'likelihood of nodule' "$out/report.html" || fail "no summary sentence"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const need = ["report", "title", "summary", "disclaimer", "model", "image", "scores",
                "prediction", "target", "explanations"];
  for (const k of need) if (!(k in r)) { console.error("report.json lacks " + k); process.exit(1); }
  const m = r.explanations.map((e) => e.method).join(",");
  if (m !== "integrated_gradients,gradcam") { console.error("methods " + m); process.exit(1); }
  if (r.target.label !== "opacity") { console.error("target " + r.target.label); process.exit(1); }
' "$out/report.json"
node "$src/tests/web/validate.mjs" --self-contained "$out/report.html"
node "$src/tests/web/validate.mjs" "$src/server/viewer/index.html"
