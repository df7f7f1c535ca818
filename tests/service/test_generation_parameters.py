"""One list of generation parameters (GenerationRequest's annotated fields): the backends, the
model input, the CLI and the OpenAPI document all agree with it."""

from __future__ import annotations

import dataclasses

import click
import pytest

from service.backends import KNOWN_MODELS, GenerationInput, create_backend
from service.cli import generate
from service.generations.request import GENERATION_PARAMETERS, PARAMETER_NAMES, GenerationRequest


@pytest.mark.parametrize("model", KNOWN_MODELS)
def test_every_backend_uses_only_declared_parameters_with_defaults_of_their_type(settings, model):
    info = create_backend(model, settings).info()
    subject = {"prompt", "negative_prompt", "image"}  # what the clip is of, beside the parameters
    assert subject <= set(GenerationRequest.__struct_fields__)
    assert set(info.parameters) - subject <= set(PARAMETER_NAMES), set(info.parameters) - subject - set(PARAMETER_NAMES)
    kinds = {parameter.name: parameter.kind for parameter in GENERATION_PARAMETERS}
    for name, value in info.defaults.items():
        assert name in kinds, f"{model} has a default for {name}, which is no request parameter"
        if value is not None:
            assert isinstance(value, (int, float)) and (kinds[name] is float or isinstance(value, int)), (name, value)
    # what the model uses and has no default for must come from the request or a rule (seed: random)
    assert {"num_frames", "fps", "width", "height"} <= set(info.defaults)


def test_the_model_input_takes_every_parameter():
    fields = {field.name for field in dataclasses.fields(GenerationInput)}
    assert set(PARAMETER_NAMES) <= fields


def test_the_cli_offers_every_parameter_with_its_type():
    options = {option.name: option for option in generate.params if isinstance(option, click.Option)}
    for parameter in GENERATION_PARAMETERS:
        option = options[parameter.name]
        assert parameter.cli_flag in option.opts
        assert option.type == click.types.convert_type(parameter.kind)


def test_each_parameter_is_bounded_and_described():
    for parameter in GENERATION_PARAMETERS:
        assert parameter.description
        assert parameter.bounds or parameter.limit_setting or parameter.name in ("width", "height"), parameter.name
    assert (
        tuple(
            name
            for name in GenerationRequest.__struct_fields__
            if name not in ("model", "prompt", "negative_prompt", "image")
        )
        == PARAMETER_NAMES
    )


def test_the_openapi_request_body_lists_every_parameter(client):
    document = client.get("/schema/openapi.json").json()
    body = document["paths"]["/v1/generations"]["post"]["requestBody"]["content"]
    for kind in ("application/json", "multipart/form-data"):
        assert set(PARAMETER_NAMES) <= set(body[kind]["schema"]["properties"])
