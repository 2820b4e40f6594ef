// Everything a user of leap needs, in one include.
#pragma once

#include "leap/callbacks.h"
#include "leap/checkpoint.h"
#include "leap/data.h"
#include "leap/distill.h"
#include "leap/error.h"
#include "leap/idx.h"
#include "leap/layers.h"
#include "leap/loss.h"
#include "leap/onnx.h"
#include "leap/optim.h"
#include "leap/predictor.h"
#include "leap/safetensors.h"
#include "leap/schedule.h"
#include "leap/sequential.h"
#include "leap/tensor.h"
#include "leap/trainer.h"
