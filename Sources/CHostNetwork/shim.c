#include "CHostNetwork.h"
