/*
 * test_base64.c - RFC 4648 section 10 test vectors, binary round trips, and strict rejection of
 * everything that is not canonical base64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "base64.h"

static const char *vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *plain = vectors[i][0], *enc = vectors[i][1];
        char out[16];
        assert_int_equal(xai_base64_encoded_len(strlen(plain)), strlen(enc));
        xai_base64_encode(plain, strlen(plain), out);
        assert_string_equal(out, enc);
        unsigned char dec[16];
        size_t n = 99;
        assert_int_equal(xai_base64_decode(enc, strlen(enc), dec, &n, NULL), XAI_OK);
        assert_int_equal(n, strlen(plain));
        assert_memory_equal(dec, plain, n);
    }
}

/* Every byte value, every length modulo 3. */
static void test_binary_roundtrip(void **state)
{
    (void)state;
    unsigned char in[300], dec[300];
    char enc[401];
    for (int i = 0; i < 300; i++) in[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= 300; n++) {
        size_t len = xai_base64_encoded_len(n), got = 0;
        xai_base64_encode(in, n, enc);
        assert_int_equal(strlen(enc), len);
        assert_true(xai_base64_decoded_max(len) >= n);
        assert_int_equal(xai_base64_decode(enc, len, dec, &got, NULL), XAI_OK);
        assert_int_equal(got, n);
        assert_memory_equal(dec, in, n);
    }
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zg",       /* unpadded */
        "Zg=a",     /* '=' followed by data */
        "Z===",     /* three pads */
        "====",     /* nothing but padding */
        "=Zg=",     /* leading pad */
        "Zh==",     /* non-zero bits before the padding (canonical is Zg==) */
        "Zm9=",     /* non-zero bits before the padding (canonical is Zm8=) */
        "Zg==Zg==", /* padding in the middle */
        "Zm 9",     /* whitespace */
        "Zm9v\n",   /* line break */
        "Zm-_",     /* URL-safe alphabet */
        "Zm9\x80",  /* non-ASCII */
    };
    unsigned char out[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct xai_err err = {{0}};
        size_t n;
        assert_int_equal(xai_base64_decode(bad[i], strlen(bad[i]), out, &n, &err),
                         XAI_INVALID_ARGUMENT);
        assert_non_null(strstr(err.msg, "base64"));
    }
    /* an embedded NUL is an invalid character, not an end */
    size_t n;
    assert_int_equal(xai_base64_decode("Zm\0v", 4, out, &n, NULL), XAI_INVALID_ARGUMENT);
}

static void test_lengths(void **state)
{
    (void)state;
    assert_int_equal(xai_base64_encoded_len(0), 0);
    assert_int_equal(xai_base64_encoded_len(1), 4);
    assert_int_equal(xai_base64_encoded_len(3), 4);
    assert_int_equal(xai_base64_encoded_len(4), 8);
    assert_int_equal(xai_base64_encoded_len(SIZE_MAX), 0); /* overflow */
    assert_int_equal(xai_base64_decoded_max(8), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_binary_roundtrip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
