#include "config.h"
#include <criterion/criterion.h>
#include "t/it_loops_util.h"
Test(loops_concurrency, placeholder) {}
