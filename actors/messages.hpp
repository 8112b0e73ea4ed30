// Everything an actor's .cpp needs to send and receive messages: all of CAF (core and io), the
// atoms (actors/atoms.hpp) and the message structs (actors/message_types.hpp).
// Include only from actors/*.cpp and tools: this pulls in CAF.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/message_types.hpp"
