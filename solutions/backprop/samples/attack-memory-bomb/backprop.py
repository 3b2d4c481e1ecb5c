"""Attack: allocate far more memory than allowed in every call."""


def sigmoid_forward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def sigmoid_backward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def tanh_forward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def tanh_backward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def relu_forward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def relu_backward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def affine_forward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def affine_backward(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def mse_loss(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def two_layer_net(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))


def eval_numerical_gradient(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 2**20))
