"""Public Azure regions (normalized names) the emulator accepts as locations."""

REGIONS = frozenset("""
eastus eastus2 southcentralus westus2 westus3 australiaeast southeastasia northeurope
swedencentral uksouth westeurope centralus southafricanorth centralindia eastasia japaneast
koreacentral newzealandnorth canadacentral francecentral germanywestcentral italynorth
norwayeast polandcentral spaincentral switzerlandnorth mexicocentral uaenorth brazilsouth
israelcentral qatarcentral centralusstage eastusstage eastus2stage northcentralusstage
southcentralusstage westusstage westus2stage asia asiapacific australia brazil canada europe
france germany global india indonesia israel italy japan korea malaysia newzealand norway
poland qatar singapore southafrica sweden switzerland uae uk unitedstates unitedstateseuap
eastasiastage southeastasiastage brazilus eastusstg northcentralus westus japanwest jioindiawest
centraluseuap eastus2euap westcentralus southafricawest australiacentral australiacentral2
australiasoutheast jioindiacentral koreasouth southindia westindia canadaeast francesouth
germanynorth norwaywest switzerlandwest ukwest uaecentral brazilsoutheast chilecentral
indonesiacentral malaysiawest austriaeast belgiumcentral denmarkeast
""".split())


def normalize(location):
    """'West Europe' -> 'westeurope' (what ARM returns)."""
    return "".join(str(location).split()).lower()
