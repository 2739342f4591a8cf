// Boost.Test's runner, compiled once and linked into every test executable.
#define BOOST_TEST_MODULE opscope
#include <boost/test/unit_test.hpp>
