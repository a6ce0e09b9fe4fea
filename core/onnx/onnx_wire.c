/*
 * onnx_wire.c - a pre-scan of the protobuf wire format before protobuf-c parses it.
 *
 * protobuf-c unpacks nested messages recursively without a depth limit, and ONNX can nest
 * without end through subgraph attributes (GraphProto -> NodeProto -> AttributeProto.g ->
 * GraphProto ...), so a small hostile file could exhaust the stack. This walk follows only
 * that path, counts graph nesting and refuses files deeper than a limit. Anything it cannot
 * read is left for protobuf-c, which reports malformed data itself.
 */
#include "onnx_internal.h"

enum kind { K_MODEL, K_GRAPH, K_NODE, K_ATTR, K_NONE };

/* The message kind of field number `field` inside a message of kind k, on the nesting path. */
static enum kind child(enum kind k, uint64_t field)
{
    if (k == K_MODEL && field == 7) return K_GRAPH;
    if (k == K_GRAPH && field == 1) return K_NODE;
    if (k == K_NODE && field == 5) return K_ATTR;
    if (k == K_ATTR && field == 6) return K_GRAPH;
    return K_NONE;
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        if (shift < 64) *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

/* 1 when graphs nest deeper than max below this message, else 0. */
static int scan(const uint8_t *p, const uint8_t *end, enum kind k, int depth, int max)
{
    while (p < end) {
        uint64_t tag, len;
        if (!varint(&p, end, &tag)) return 0;
        switch (tag & 7) {
        case 0:
            if (!varint(&p, end, &len)) return 0;
            break;
        case 1:
            if (end - p < 8) return 0;
            p += 8;
            break;
        case 5:
            if (end - p < 4) return 0;
            p += 4;
            break;
        case 2: {
            if (!varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
            enum kind c = child(k, tag >> 3);
            int d = depth + (c == K_GRAPH);
            if (c != K_NONE && (d > max || scan(p, p + len, c, d, max))) return 1;
            p += len;
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

xai_status xai_onnx_check_depth(const uint8_t *buf, size_t len, int max, struct xai_err *err)
{
    if (scan(buf, buf + len, K_MODEL, 0, max))
        return xai_fail(err, XAI_UNSUPPORTED, "subgraphs nest more than %d levels deep", max);
    return XAI_OK;
}
