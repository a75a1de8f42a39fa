"""Microsoft.Resources/resourceGroups."""
import re

from ..errors import ArmError
from ..registry import ResourceType, register


@register
class ResourceGroup(ResourceType):
    type = "Microsoft.Resources/resourceGroups"
    api_versions = ("2019-10-01", "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01",
                    "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01")
    scopes = ("subscription",)
    async_put = False            # PUT answers 201/200 at once
    async_delete = True          # DELETE answers 202 + Location (operationresults), cascades
    delete_headers = ("Location",)
    delete_missing = 404         # deleting a missing group: 404 ResourceGroupNotFound
    duration = 20.0
    patch = "merge"
    etag = None
    retry_after = 15
    name_pattern = re.compile(r"^(?!.*\.$)[-\w.()]{1,90}$")
    name_code = "InvalidResourceGroup"
    name_message = ("The provided resource group name '{name}' is invalid. It can be up to 90 "
                    "characters long, may contain only letters, digits, '-', '_', '.', '(' and ')', "
                    "and cannot end with '.'.")

    def not_found(self, ctx):
        return ArmError(404, "ResourceGroupNotFound", f"Resource group '{ctx.name}' could not be found.")

    def validate(self, ctx, body, existing):
        managed_by = body.get("managedBy")
        if managed_by is not None and not isinstance(managed_by, str):
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: "
                           "'managedBy' must be a string.")
        # Only these top-level fields exist on a resource group.
        for k in list(body):
            if k not in ("location", "tags", "managedBy", "properties"):
                body.pop(k)
        body["properties"] = {}

    def operation_paths(self, ctx, op_id):
        return None, f"/subscriptions/{ctx.sub}/operationresults/{op_id}"
