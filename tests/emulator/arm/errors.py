"""ARM error envelope: {"error": {"code", "message", "target"?, "details": []}}."""

from ..http import json_response

NOT_FOUND_FIX = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


class ArmError(Exception):
    """Raised anywhere in a handler; the router turns it into the ARM error response."""

    def __init__(self, status, code, message, target=None, headers=None, subcode=None):
        super().__init__("%s: %s" % (code, message))
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.subcode = subcode
        self.headers = headers or {}

    def body(self):
        error = {"code": self.code, "message": self.message, "details": []}
        if self.target:
            error["target"] = self.target
        if self.subcode:
            error["subcode"] = self.subcode
        return {"error": error}

    def response(self):
        return json_response(self.status, self.body(), self.headers)


def bad_request(code, message, target=None, subcode=None):
    return ArmError(400, code, message, target, subcode=subcode)


def resource_not_found(type_name, name, resource_group):
    # what the ARM gateway answers for a missing top-level resource (recorded from real AKS)
    return ArmError(
        404, "ResourceNotFound",
        "The Resource '%s/%s' under resource group '%s' was not found. %s" % (type_name, name, resource_group, NOT_FOUND_FIX),
        headers={"x-ms-failure-cause": "gateway"})


def child_not_found(resource_id):
    # child resources (subnets, agent pools) are answered by the resource provider itself
    return ArmError(404, "NotFound", "Resource %s not found." % resource_id)


def resource_group_not_found(name):
    return ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % name,
                    headers={"x-ms-failure-cause": "gateway"})
