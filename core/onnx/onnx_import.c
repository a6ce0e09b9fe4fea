/* onnx_import.c - placeholder until the ONNX importer lands. */
#include "model.h"

xai_status xai_model_load_buffer(const void *buf, size_t len, xai_model **out,
                                 struct xai_err *err)
{
    return xai_fail(err, XAI_UNSUPPORTED, "ONNX import is not implemented yet");
}

xai_status xai_model_load(const char *path, xai_model **out, struct xai_err *err)
{
    return xai_fail(err, XAI_UNSUPPORTED, "ONNX import is not implemented yet");
}
