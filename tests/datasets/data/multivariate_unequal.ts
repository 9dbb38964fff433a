# Two channels whose lengths differ within and between cases.
@problemName MultiToy
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true walk run
@data
1,2,3:10,20:walk
# a comment between cases
4,5:40,50,60,70:run
