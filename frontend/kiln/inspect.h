// Inspecting what kiln does with a graph (kernels, Graphviz, measured runs): the runtime's
// inspection library, runtime/inspect.h, under its public name.
#pragma once

#include "runtime/inspect.h"
