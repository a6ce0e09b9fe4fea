#!/bin/sh
# fetch-models.sh - the xaid pod's init container: downloads the model repository archive
# (MODEL_URL, a tar.gz of model folders made by deploy/make-model-archive), refuses it unless
# its sha256 is MODEL_SHA256, and unpacks it into MODELS_DIR (default /models). The URL is
# never printed: it may carry a signed token.
set -eu
: "${MODEL_URL:?MODEL_URL is not set}"
: "${MODEL_SHA256:?MODEL_SHA256 is not set}"
dir=${MODELS_DIR:-/models}
archive="$dir/.models.tar.gz"
rm -rf "${dir:?}"/* "$archive"
curl --fail --silent --show-error --location --retry 5 --retry-connrefused \
  --connect-timeout 10 --max-time 900 --output "$archive" "$MODEL_URL"
got=$(sha256sum "$archive" | cut -d' ' -f1)
if [ "$got" != "$MODEL_SHA256" ]; then
  echo "fetch-models: sha256 mismatch: archive $got, expected $MODEL_SHA256" >&2
  rm -f "$archive"
  exit 1
fi
tar -xzf "$archive" -C "$dir"
rm -f "$archive"
n=0
for m in "$dir"/*/; do
  if [ ! -f "$m/model.onnx" ] || [ ! -f "$m/model.json" ]; then
    echo "fetch-models: $(basename "$m") lacks model.onnx or model.json" >&2
    exit 1
  fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "fetch-models: the archive holds no model folder" >&2; exit 1; }
echo "fetch-models: $n model(s), archive sha256 $got"
