/*
 * test_structures.c: the two containers the preload keeps its state in: the set
 * of written address ranges and the address map (with deletion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "addrmap.h"
#include "ranges.h"

static void ranges_merge_and_contain(void **state)
{
    (void)state;
    nn_ranges s = {.max_ranges = 1024};
    assert_true(nn_ranges_add(&s, 100, 200));
    assert_true(nn_ranges_add(&s, 300, 400));
    assert_int_equal(s.len, 2);
    /* [150, 320) bridges both: one range [100, 400) */
    assert_true(nn_ranges_add(&s, 150, 320));
    assert_int_equal(s.len, 1);
    assert_int_equal(s.r[0].start, 100);
    assert_int_equal(s.r[0].end, 400);
    /* touching ranges merge too: [400, 450) extends it */
    assert_true(nn_ranges_add(&s, 400, 450));
    assert_int_equal(s.len, 1);
    assert_true(nn_ranges_contains(&s, 100));
    assert_true(nn_ranges_contains(&s, 449));
    assert_false(nn_ranges_contains(&s, 450));
    assert_false(nn_ranges_contains(&s, 99));
    /* one added before all others lands first */
    assert_true(nn_ranges_add(&s, 10, 20));
    assert_int_equal(s.len, 2);
    assert_int_equal(s.r[0].start, 10);
    nn_ranges_clear(&s);
}

static void ranges_remove_splits(void **state)
{
    (void)state;
    nn_ranges s = {.max_ranges = 1024};
    assert_true(nn_ranges_add(&s, 100, 400));
    /* a hole in the middle: [100, 200) and [300, 400) remain */
    nn_ranges_remove(&s, 200, 300);
    assert_int_equal(s.len, 2);
    assert_int_equal(s.r[0].end, 200);
    assert_int_equal(s.r[1].start, 300);
    assert_false(nn_ranges_contains(&s, 250));
    /* trim the left piece's tail and the right piece's head at once */
    nn_ranges_remove(&s, 150, 350);
    assert_int_equal(s.len, 2);
    assert_int_equal(s.r[0].end, 150);
    assert_int_equal(s.r[1].start, 350);
    /* remove a whole range exactly */
    nn_ranges_remove(&s, 100, 150);
    assert_int_equal(s.len, 1);
    assert_int_equal(s.r[0].start, 350);
    /* removing what is not there changes nothing */
    nn_ranges_remove(&s, 0, 50);
    assert_int_equal(s.len, 1);
    nn_ranges_clear(&s);
}

static void ranges_bounded(void **state)
{
    (void)state;
    /* room for 256 ranges (the first allocation), no more */
    nn_ranges s = {.max_ranges = 256};
    for (uintptr_t i = 0; i < 256; i++) assert_true(nn_ranges_add(&s, 10 * i + 1, 10 * i + 2));
    assert_false(nn_ranges_add(&s, 100000, 100001));
    assert_int_equal(s.len, 256);
    nn_ranges_clear(&s);
}

static void addrmap_insert_find_erase(void **state)
{
    (void)state;
    nn_addrmap m = {.max_slots = 1 << 16};
    /* 5,000 keys, 256 bytes apart, as device allocations are */
    for (uintptr_t i = 1; i <= 5000; i++) {
        nn_addrmap_slot *s = nn_addrmap_insert(&m, i * 256);
        assert_non_null(s);
        s->value = i;
    }
    assert_int_equal(m.used, 5000);
    /* erase every odd one; the even ones must all still be found, with their values */
    for (uintptr_t i = 1; i <= 5000; i += 2) nn_addrmap_erase(&m, i * 256);
    assert_int_equal(m.used, 2500);
    for (uintptr_t i = 1; i <= 5000; i++) {
        nn_addrmap_slot *s = nn_addrmap_find(&m, i * 256);
        if (i % 2) {
            assert_null(s);
        } else {
            assert_non_null(s);
            assert_int_equal(s->value, i);
        }
    }
    /* inserting an existing key returns its slot, not a new one */
    assert_int_equal(nn_addrmap_insert(&m, 512)->value, 2);
    assert_int_equal(m.used, 2500);
    nn_addrmap_clear(&m);
}

static void addrmap_bounded(void **state)
{
    (void)state;
    /* 1,024 slots at most, kept half full: 512 keys fit, the 513th does not */
    nn_addrmap m = {.max_slots = 1024};
    for (uintptr_t i = 1; i <= 512; i++) assert_non_null(nn_addrmap_insert(&m, i * 16));
    assert_null(nn_addrmap_insert(&m, 513 * 16));
    assert_null(nn_addrmap_insert(&m, 0)); /* 0 is not a key */
    nn_addrmap_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranges_merge_and_contain), cmocka_unit_test(ranges_remove_splits),
        cmocka_unit_test(ranges_bounded),           cmocka_unit_test(addrmap_insert_find_erase),
        cmocka_unit_test(addrmap_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
