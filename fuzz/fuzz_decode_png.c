/*
 * fuzz_decode_png.c - image uploads as the workers decode them (api_prepare: xai_image_decode,
 * then preprocessing for the demo model), seeded with PNG files (fuzz/corpus/decode_png/):
 * every colour type and bit depth, palettes with tRNS, Adam7 interlacing, split IDATs, and
 * broken files (CRC errors, bad headers, too little or too much data, bombs).
 *
 * The decoder picks the codec from the magic bytes, so this target and fuzz_decode_jpeg.c run
 * the same function; they differ by corpus and dictionary (fuzz/decode_png.dict: chunk
 * types), which keep each one's mutations inside one format.
 */
#include "_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size);
    return 0;
}
